package com.corvane.ledgerline.exporter;

import java.time.Duration;
import java.util.function.IntConsumer;

/** Retries an upload with exponential backoff: 5 retries, starting at 30 seconds, doubling. */
public class RetryPolicy {

    @FunctionalInterface
    public interface Attempt {
        void run() throws Exception;
    }

    private final int retries;
    private final Duration initialBackoff;

    public RetryPolicy(int retries, long initialBackoffSeconds) {
        if (retries < 0) {
            throw new IllegalArgumentException("retries must be >= 0");
        }
        this.retries = retries;
        this.initialBackoff = Duration.ofSeconds(initialBackoffSeconds);
    }

    public Duration backoff(int attempt) {
        return initialBackoff.multipliedBy(1L << (attempt - 1));
    }

    public void run(Attempt action, IntConsumer onFailure) {
        for (int attempt = 1; ; attempt++) {
            try {
                action.run();
                return;
            } catch (Exception e) {
                onFailure.accept(attempt);
                if (attempt > retries) {
                    throw new ExportFailedException("giving up after " + attempt + " attempts", e);
                }
                sleep(backoff(attempt));
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ExportFailedException("interrupted while waiting to retry", e);
        }
    }

    public static class ExportFailedException extends RuntimeException {
        public ExportFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
