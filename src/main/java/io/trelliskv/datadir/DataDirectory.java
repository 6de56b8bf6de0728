package io.trelliskv.datadir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A node's data directory, checked and held: it is a writable directory, and no other running node
 * uses it. The check happens once, at startup, and every failure names its reason in one line
 * ({@code not a directory (it is a file)}, {@code not writable by this process}, {@code in use by another
 * running node (process 1234) ...}), which {@code Main} prints after the option and the directory before
 * exiting with status 2.
 *
 * <h2>The lock</h2>
 * {@code <dir>/lock} holds an OS file lock ({@link FileChannel#tryLock()}) for as long as the node runs,
 * with the owner's process id written in it for the message. The OS drops the lock when the process
 * dies, SIGKILL included, so a stale lock file never keeps a restarted node out.
 *
 * <h2>Atomic files</h2>
 * {@link #writeAtomically} writes a temporary file beside the target, forces it to the disk, then moves
 * it over the target in one step: a reader sees the old file or the new one, never a part. If anything
 * fails (a full disk, say) the temporary file is deleted, so no empty {@code .tmp} is left behind.
 */
public final class DataDirectory implements AutoCloseable {

    static final String LOCK_FILE = "lock";

    private final Path path;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private DataDirectory(Path path, FileChannel lockChannel, FileLock lock) {
        this.path = path;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Creates {@code dir} if needed, checks that it is a writable directory and locks it.
     *
     * @throws IOException whose message is the reason (the caller names the directory)
     */
    public static DataDirectory open(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException("not a directory (it is a file)");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create it: " + reason(e), e);
        }
        if (!Files.isWritable(dir)) {
            throw new IOException("not writable by this process (permission denied)");
        }
        Path lockFile = dir.resolve(LOCK_FILE);
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IOException("cannot open " + lockFile + ": " + reason(e), e);
        }
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this process: another node in the same JVM
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot lock " + lockFile + ": " + reason(e), e);
        }
        if (lock == null) {
            String owner = owner(channel);
            channel.close();
            throw new IOException("in use by another running node" + owner + " (" + lockFile + " is locked)");
        }
        try {
            byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(pid), 0);
        } catch (IOException e) {
            // the lock holds without the pid; the pid only makes another node's message clearer
        }
        return new DataDirectory(dir, channel, lock);
    }

    private static String owner(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            channel.read(b, 0);
            String pid = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            return pid.matches("[0-9]{1,19}") ? " (process " + pid + ")" : "";
        } catch (IOException e) {
            return "";
        }
    }

    public Path path() {
        return path;
    }

    /**
     * Replaces {@code file} with {@code bytes} atomically (temporary file, force, move); on failure
     * the temporary file is removed and the old file, if any, is left as it was.
     *
     * @throws IOException naming the file and the reason
     */
    static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    out.write(b);
                }
                out.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the write's failure is the one to report
            }
            throw new IOException("cannot write " + file + ": " + reason(e), e);
        }
    }

    /** An I/O failure's reason in words: a {@link FileSystemException}'s message is often just the path. */
    static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        if (e instanceof FileSystemException) {
            return e.getClass().getSimpleName();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** Releases the lock; another node may use the directory from then on. */
    @Override
    public void close() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // closing the channel releases the lock; the process exiting does too
        }
    }
}
