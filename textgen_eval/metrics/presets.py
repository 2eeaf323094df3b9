"""Named evaluation presets: the peers' conventions, so published numbers can be reproduced.

| preset | BLEU: samples × references | self-BLEU |
|---|---|---|
| ``full`` (default) | all × all | every sample vs every other sample |
| ``texygen-fast`` | all × first 500 | first 500 samples, each vs the other 499 |
| ``textgan`` | first 200 × all | first 200 samples vs the samples after them |

``texygen-fast`` is Texygen's ``is_fast`` mode (Zhu et al., 2018). ``textgan`` follows
TextGAN-PyTorch, which scores 200 samples drawn *separately* from the evaluation samples; with
one samples file the first 200 are scored against the rest, which are likewise a different draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textgen_eval.core.registry import Registry


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    bleu_samples: int | None = None  # score only the first k samples (None: all)
    bleu_references: int | None = None  # use only the first k references (None: all)
    self_bleu_samples: int | None = None  # score only the first k samples (None: all)
    # "others": sample i vs every other scored sample; "rest": scored samples vs the ones after them
    self_bleu_references: Literal["others", "rest"] = "others"


preset_registry: Registry[Preset] = Registry("preset")
for _preset in (
    Preset("full", "every sample against every reference; self-BLEU against all other samples"),
    Preset(
        "texygen-fast",
        "Texygen's fast mode: references cut to the first 500; self-BLEU on the first 500 samples",
        bleu_references=500,
        self_bleu_samples=500,
    ),
    Preset(
        "textgan",
        "TextGAN-PyTorch: BLEU of the first 200 samples; self-BLEU of the first 200 vs the rest",
        bleu_samples=200,
        self_bleu_samples=200,
        self_bleu_references="rest",
    ),
):
    preset_registry.register(_preset.name, _preset)


def resolve_preset(preset: str | Preset | None) -> Preset:
    if isinstance(preset, Preset):
        return preset
    return preset_registry.get(preset or "full")
