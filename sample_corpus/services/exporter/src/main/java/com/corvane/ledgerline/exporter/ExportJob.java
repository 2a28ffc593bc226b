package com.corvane.ledgerline.exporter;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;

/** The state of one export, from the file being written to the upload finishing. */
public class ExportJob {

    /** Where a job stands. */
    public enum Status { STARTED, FILE_WRITTEN, UPLOADED, FAILED }

    /** An immutable summary that the admin endpoint (port 8081) reports. */
    public static final class Result {
        private final LocalDate businessDay;
        private final Status status;
        private final int journalLines;
        private final Duration elapsed;

        Result(LocalDate businessDay, Status status, int journalLines, Duration elapsed) {
            this.businessDay = businessDay;
            this.status = status;
            this.journalLines = journalLines;
            this.elapsed = elapsed;
        }

        public LocalDate businessDay() { return businessDay; }
        public Status status() { return status; }
        public int journalLines() { return journalLines; }
        public Duration elapsed() { return elapsed; }

        @Override
        public String toString() {
            return "ExportJob.Result[" + businessDay + ", " + status + ", " + journalLines + " lines, " + elapsed + "]";
        }
    }

    private final LocalDate businessDay;
    private final Instant started;
    private Status status = Status.STARTED;
    private Path file;
    private int journalLines;
    private Instant finished;

    ExportJob(LocalDate businessDay, Instant started) {
        this.businessDay = businessDay;
        this.started = started;
    }

    void fileWritten(Path file, int journalLines) {
        this.file = file;
        this.journalLines = journalLines;
        this.status = Status.FILE_WRITTEN;
    }

    void uploaded(Instant when) {
        this.finished = when;
        this.status = Status.UPLOADED;
    }

    void failed(Instant when) {
        this.finished = when;
        this.status = Status.FAILED;
    }

    Path file() {
        return file;
    }

    Result result() {
        Duration elapsed = finished == null ? Duration.ZERO : Duration.between(started, finished);
        return new Result(businessDay, status, journalLines, elapsed);
    }
}
