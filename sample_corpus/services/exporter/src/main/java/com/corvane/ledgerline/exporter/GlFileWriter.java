package com.corvane.ledgerline.exporter;

import java.io.BufferedWriter;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * Writes CGL-2 fixed-width journal files: a header record (H), one detail record (D) per
 * journal line and a trailer record (T) with the line count and the control total.
 */
public class GlFileWriter {

    static final int RECORD_LENGTH = 120;
    private static final DateTimeFormatter DATE = DateTimeFormatter.BASIC_ISO_DATE;

    public Path write(Path dir, LocalDate businessDay, List<JournalLine> lines) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve("LDG_" + DATE.format(businessDay) + ".cgl");
        Path tmp = Files.createTempFile(dir, ".cgl", ".tmp");
        BigDecimal control = BigDecimal.ZERO;
        try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.US_ASCII)) {
            out.write(pad("H" + DATE.format(businessDay) + "LEDGERLINE"));
            out.newLine();
            for (JournalLine line : lines) {
                out.write(detail(line));
                out.newLine();
                control = control.add(line.amount());
            }
            out.write(pad("T" + String.format("%09d", lines.size()) + amount(control)));
            out.newLine();
        }
        // Rename so the SFTP uploader never sees a half-written file.
        return Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static String detail(JournalLine line) {
        return pad("D" + String.format("%-12s", line.glAccount()) + line.currency()
                + amount(line.amount()) + String.format("%-40.40s", line.memo()));
    }

    static String amount(BigDecimal value) {
        BigDecimal cents = value.setScale(2, RoundingMode.UNNECESSARY).movePointRight(2);
        return String.format("%+017d", cents.longValueExact());
    }

    private static String pad(String record) {
        if (record.length() > RECORD_LENGTH) {
            throw new IllegalArgumentException("CGL-2 record longer than " + RECORD_LENGTH + " characters");
        }
        return String.format("%-" + RECORD_LENGTH + "s", record);
    }
}
