"""Language models that score samples (``--lm``): a registry of specs → :class:`SequenceScorer`.

- ``reference`` (default): the LSTM LM trained on the reference bundle's training text.
- ``hf:NAME_OR_PATH``: a ``transformers`` causal LM. Each sentence is encoded as
  ``BOS + tokens + EOS`` with the tokenizer's BOS (GPT-2: ``<|endoftext|>``; the EOS token when
  there is no BOS), and every position after BOS is scored, EOS included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from textgen_eval.core.errors import ConfigError, MetricError
from textgen_eval.core.protocols import EvaluationResources, SequenceScorer, TokenScores
from textgen_eval.core.registry import Registry
from textgen_eval.metrics.featurizers import load_hf

ScorerFactory = Callable[[str, EvaluationResources], SequenceScorer]
scorer_registry: Registry[ScorerFactory] = Registry("language model", group="textgen_eval.scorers")
DEFAULT_SCORER = "reference"


class HFCausalLMScorer:
    """Per-sentence NLL under a ``transformers`` causal LM."""

    def __init__(self, name: str, *, batch_size: int = 32, device: str = "cpu") -> None:
        import torch

        self.tokenizer, self.model = load_hf(name, "AutoModelForCausalLM", "--lm hf:", device)
        self.name = name
        self.batch_size = batch_size
        self.device = torch.device(device)
        bos = self.tokenizer.bos_token_id
        eos = self.tokenizer.eos_token_id
        if eos is None:
            raise ConfigError(f"hf:{name}: the tokenizer has no EOS token; cannot score sentence ends")
        self.bos_id = int(eos if bos is None else bos)
        self.eos_id = int(eos)
        config = self.model.config
        self.max_len: int = int(
            getattr(config, "n_positions", 0) or getattr(config, "max_position_embeddings", 1024)
        )

    @property
    def signature(self) -> str:
        path = Path(self.name)
        ident = path.name if path.is_dir() else self.name
        return f"hf-{ident}-{type(self.model).__name__}-bos{self.bos_id}-eos{self.eos_id}"

    def score_texts(self, texts: Sequence[str]) -> TokenScores:
        import torch
        from torch.nn import functional as F

        encoded = [
            [self.bos_id, *self.tokenizer(text, add_special_tokens=False)["input_ids"], self.eos_id]
            for text in texts
        ]
        for line, ids in enumerate(encoded, start=1):
            if len(ids) > self.max_len:
                raise MetricError(
                    f"sample line {line} has {len(ids)} tokens with BOS/EOS; hf:{self.name} accepts at most "
                    f"{self.max_len}"
                )
        nll = np.zeros(len(texts))
        tokens = np.asarray([len(ids) - 1 for ids in encoded], dtype=np.int64)
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        with torch.no_grad():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                width = max(len(encoded[i]) for i in idx)
                batch = torch.full((len(idx), width), self.eos_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    batch[row, : len(encoded[i])] = torch.tensor(encoded[i])
                    mask[row, : len(encoded[i])] = 1
                batch, mask = batch.to(self.device), mask.to(self.device)
                logits = self.model(input_ids=batch, attention_mask=mask).logits[:, :-1].float()
                losses = F.cross_entropy(logits.transpose(1, 2), batch[:, 1:], reduction="none")
                sums = (losses * mask[:, 1:]).sum(dim=1).double().cpu().numpy()
                nll[idx] = sums
        return TokenScores(nll=nll, tokens=tokens, oov=np.zeros(len(texts), dtype=np.int64))


def _reference(arg: str, resources: EvaluationResources) -> SequenceScorer:
    if arg:
        raise ConfigError(f"--lm reference takes no argument (got reference:{arg})")
    scorer: SequenceScorer = resources.reference_model()
    return scorer


def _hf(arg: str, resources: EvaluationResources) -> SequenceScorer:
    if not arg:
        raise ConfigError("--lm hf: needs a model name or path, e.g. hf:gpt2")
    return HFCausalLMScorer(arg)


scorer_registry.register("reference", _reference)
scorer_registry.register("hf", _hf)


def make_scorer(spec: str | None, resources: EvaluationResources) -> SequenceScorer:
    name, _, arg = (spec or DEFAULT_SCORER).partition(":")
    return scorer_registry.get(name)(arg, resources)
