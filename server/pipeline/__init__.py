"""The detector: reads the event log in offset order and feeds the pipeline stages.

A stage is pure (no database, no Flask, no wall clock): it ``apply``s events to in-memory
state, says which rows it wants written with ``outputs``, and pickles for checkpoints. The
``Runner`` owns the I/O: it reads a batch, applies it, and in one transaction writes the
stages' outputs together with the new offset and the pickled state. After a crash it
restores the last checkpoint and replays from its offset, so no event is skipped or applied
twice.
"""

from server.pipeline.runner import Runner, run_forever
from server.pipeline.stage import Stage
from server.pipeline.stats import IngestStats

__all__ = ["IngestStats", "Runner", "Stage", "run_forever"]
