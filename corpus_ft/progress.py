"""Progress a person sees under make, in CI and in log files, not only on a terminal.

    ticker = Ticker("train", total=44, unit="step")   # a line at once, then one at least every 30 s
    ticker.update(12, loss=2.31, tokens_per_s=180)   # what the next line reports
    ticker.close("44 steps, train loss 1.92")        # the summary line

Long stages (training, evaluation) can spend minutes inside one library call, so the lines come
from a background thread that reports the last known state; `CORPUS_FT_PROGRESS_S` changes the
interval (tests use a fraction of a second). `quiet_third_party()` silences library messages that
tell the user nothing (see QUIET_LOGGERS).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["QUIET_LOGGERS", "Ticker", "interval_s", "quiet_third_party", "report_logs", "train_callback"]

# Library loggers whose messages say nothing a user can act on, and why each is silenced.
QUIET_LOGGERS = {
    # A section or code unit longer than chunk_size stays one chunk; the dataset filters and
    # stats.json (`too_long`) already account for it, once per kind rather than once per chunk.
    "langchain_text_splitters.base": logging.ERROR,
    # bitsandbytes' CPU backend asks the hub for an optional kernel; offline it always falls back
    # to its built-in one, which is the expected case here.
    "kernels._internals.hf_hub": logging.ERROR,
    "bitsandbytes.backends.cpu.ops": logging.ERROR,
}


class _Stderr(logging.Handler):
    """One line per record on the current stderr (click's, so tests and pipes see it too)."""

    def emit(self, record: logging.LogRecord) -> None:
        import click

        try:
            click.echo(self.format(record), err=True)
        except Exception:  # a closed stream must not turn a warning into a crash
            self.handleError(record)


def report_logs(verbosity: int = 0) -> None:
    """The one place corpus-ft's own log messages reach the user: `level: message` on stderr.

    verbosity -1 shows errors only, 0 warnings (the default), 1 info, 2 debug. Set once by the CLI;
    calling it again replaces the handler instead of adding a second one."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    if verbosity < 2:  # library noise no user can act on (QUIET_LOGGERS); -vv shows it
        for name, quiet in QUIET_LOGGERS.items():
            logging.getLogger(name).setLevel(quiet)
    logger = logging.getLogger("corpus_ft")
    for h in [h for h in logger.handlers if isinstance(h, _Stderr)]:
        logger.removeHandler(h)
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(levelname_lower)s: %(message)s"))
    handler.addFilter(_lower_level)
    logger.addHandler(handler)
    logger.setLevel(level)


def _lower_level(record: logging.LogRecord) -> bool:
    record.levelname_lower = record.levelname.lower()
    return True


def interval_s() -> float:
    """Seconds between progress lines: 30 unless CORPUS_FT_PROGRESS_S says otherwise."""
    try:
        return max(0.05, float(os.environ.get("CORPUS_FT_PROGRESS_S", "30")))
    except ValueError:
        return 30.0


def quiet_third_party(bars: bool) -> None:
    """Silence library noise; without bars (make, logs) also the weight-loading progress bars."""
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    if bars:
        return
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # transformers' "Loading weights" bar reads it at import
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )


_ACTIVE: list[Ticker] = []  # tickers now running; a stage's heartbeat stays quiet while a finer one reports


class Ticker:
    """Prints `<stage>: <done>/<total> <unit>s, <fields>, elapsed, ETA` at least every interval, from a thread.

    A heartbeat ticker (`heartbeat=True`, what `corpus-ft run` keeps around every stage) prints
    `<stage>: working, elapsed …` instead, and only while no other ticker is reporting.
    """

    def __init__(
        self,
        stage: str,
        total: int | None = None,
        *,
        unit: str = "step",
        say: Callable[[str], None] | None = None,
        every_s: float | None = None,
        heartbeat: bool = False,
    ):
        self.stage, self.total, self.unit, self.heartbeat = stage, total, unit, heartbeat
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.every_s = every_s if every_s is not None else interval_s()
        self.done, self.fields = 0, {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"progress-{stage}", daemon=True)
        _ACTIVE.append(self)
        self._thread.start()

    def update(self, done: int, **fields) -> None:
        """Record progress (absolute count) and the figures the next line shows (loss=…, tokens_per_s=…)."""
        with self._lock:
            self.done = done
            self.fields.update({k: v for k, v in fields.items() if v is not None})

    def advance(self, n: int = 1) -> None:
        """Record `n` more units done."""
        with self._lock:
            self.done += n

    def line(self) -> str:
        """The progress line for the current state."""
        with self._lock:
            done, fields = self.done, dict(self.fields)
        elapsed = time.monotonic() - self.started
        if self.heartbeat:
            return f"{self.stage}: working, elapsed {_clock(elapsed)}"
        parts = [f"{done}/{self.total} {self.unit}s" if self.total else f"{done} {self.unit}s"]
        for key, value in fields.items():
            parts.append(f"{key.replace('_', ' ')} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
        parts.append(f"elapsed {_clock(elapsed)}")
        if self.total and 0 < done < self.total:
            parts.append(f"ETA {_clock(elapsed / done * (self.total - done))}")
        return f"{self.stage}: " + ", ".join(parts)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            if not (self.heartbeat and any(t is not self and not t.heartbeat for t in _ACTIVE)):
                self.say(self.line())

    def close(self, summary: str | None = None) -> None:
        """Stop the lines; print the summary, if any."""
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        self._stop.set()
        self._thread.join(timeout=5)
        if summary:
            self.say(f"{self.stage}: {summary}")

    def __enter__(self) -> Ticker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def train_callback():
    """A transformers TrainerCallback that feeds a Ticker: step/total, loss, tokens/s and ETA in plain lines."""
    from transformers import TrainerCallback

    class ProgressLines(TrainerCallback):
        """Plain progress lines for training where no progress bar shows (make, CI, a log file)."""

        ticker: Ticker | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.ticker = Ticker("train", state.max_steps or None, unit="step")
            self.ticker.say(f"train: {state.max_steps} optimizer step{'s' * (state.max_steps != 1)} to run")

        def on_step_end(self, args, state, control, **kwargs):
            if self.ticker:
                self.ticker.update(state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.ticker and logs:
                self.ticker.update(
                    state.global_step,
                    loss=logs.get("loss"),
                    eval_loss=logs.get("eval_loss"),
                    tokens_per_s=logs.get("tokens_per_s"),
                )

        def on_train_end(self, args, state, control, **kwargs):
            if self.ticker:  # the last line always shows, however short the run was against the period
                last = self.ticker.line()
                self.ticker.close()
                self.ticker.say(last)
                self.ticker = None

    return ProgressLines()
