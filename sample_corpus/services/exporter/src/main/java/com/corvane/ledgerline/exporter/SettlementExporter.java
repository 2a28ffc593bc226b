package com.corvane.ledgerline.exporter;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.util.List;
import java.util.logging.Logger;

/**
 * Writes the day's match groups as a CGL-2 general-ledger journal file and uploads it to the
 * finance SFTP server. Runs every day at 05:00 UTC, after the nightly reconciliation run.
 */
public final class SettlementExporter {

    private static final Logger LOG = Logger.getLogger(SettlementExporter.class.getName());

    private final MatchGroupRepository repository;
    private final GlFileWriter writer;
    private final SftpUploader uploader;
    private final RetryPolicy retryPolicy;
    private final Clock clock;

    public SettlementExporter(MatchGroupRepository repository, GlFileWriter writer, SftpUploader uploader,
                              RetryPolicy retryPolicy, Clock clock) {
        this.repository = repository;
        this.writer = writer;
        this.uploader = uploader;
        this.retryPolicy = retryPolicy;
        this.clock = clock;
    }

    /**
     * Exports one business day. A day without matches still produces a file with only the
     * header and trailer records, because the GL system expects a file every business day.
     */
    public ExportJob.Result exportDay(LocalDate businessDay, Path workDir) throws IOException {
        ExportJob job = new ExportJob(businessDay, clock.instant());
        List<JournalLine> lines = repository.journalLinesFor(businessDay);
        Path file = writer.write(workDir, businessDay, lines);
        job.fileWritten(file, lines.size());
        retryPolicy.run(() -> uploader.upload(file), attempt ->
                LOG.warning(() -> "GL upload attempt " + attempt + " failed for " + businessDay));
        job.uploaded(clock.instant());
        LOG.info(() -> "exported " + lines.size() + " journal lines for " + businessDay);
        return job.result();
    }

    /** Runs the exporter for yesterday's business day; the scheduler's entry point. */
    public static void main(String[] args) throws Exception {
        ExporterConfig config = ExporterConfig.load(Path.of(args.length > 0 ? args[0] : "config/ledgerline.yaml"));
        SettlementExporter exporter = new SettlementExporter(
                new JdbcMatchGroupRepository(config.dataSource()),
                new GlFileWriter(),
                new SftpUploader(config.sftpHost(), config.sftpUser()),
                new RetryPolicy(config.retries(), config.backoffInitialSeconds()),
                Clock.systemUTC());
        exporter.exportDay(LocalDate.now(Clock.systemUTC()).minusDays(1), Path.of("/tmp/ledgerline-export"));
    }
}
