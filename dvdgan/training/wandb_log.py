"""Weights & Biases mirror of a run's logs (``train.log_to: [..., wandb]``; the optional ``wandb`` extra).

wandb itself decides where the run goes: ``WANDB_MODE=offline`` keeps it on disk (``RUN/wandb``) for a later
``wandb sync``; ``WANDB_PROJECT`` and ``WANDB_ENTITY`` choose the project (default project ``dvdgan``). A resumed
run continues the same wandb run: its id is kept in ``RUN/wandb/dvdgan-run-id``.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import Any

from dvdgan.extras import missing_extra

ID_FILE = "dvdgan-run-id"


def _run_id(folder: Path) -> str:
    path = folder / ID_FILE
    if path.is_file():
        return path.read_text().strip()
    run_id = uuid.uuid4().hex[:12]
    path.write_text(run_id)
    return run_id


class WandbMirror:
    """Scalars and sample videos of a run, sent to wandb under the same names as TensorBoard's."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None):
        try:
            import wandb
        except ImportError:
            raise missing_extra("wandb") from None
        self.wandb = wandb
        folder = Path(run_dir) / "wandb"
        folder.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "dvdgan"), dir=str(run_dir),
                              name=Path(run_dir).name, id=_run_id(folder), resume="allow", config=config)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.run.log(values, step=step)

    def video(self, tag: str, gif: bytes, step: int) -> None:
        self.run.log({tag: self.wandb.Video(io.BytesIO(gif), format="gif")}, step=step)

    def close(self) -> None:
        self.run.finish()
