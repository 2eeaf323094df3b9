"""A locally trained sentence encoder for FD (``--featurizer encoder``), InferSent-style.

Conneau et al. (2017), "Supervised learning of universal sentence representations from natural
language inference data", §3.2–3.3: a bidirectional LSTM over word embeddings, max-pooled over
time, gives u = enc(premise) and v = enc(hypothesis); an MLP on [u, v, |u − v|, u ⊙ v] predicts
entailment / neutral / contradiction. The embedding of a sentence is its max-pooled BiLSTM state.

Trained here, offline, on the NLI text bundled in ``data/nli`` (SNLI dev, a third-party SNLI
train-side sample, MultiNLI dev-matched: about 37,700 labelled pairs; data/nli/SOURCE.md) — far
less than InferSent's 570k + 433k pairs, so this is InferSent's *recipe*, not its model. Words are
lowercased with punctuation split off. Training is deterministic under the recipe's seed; the
trained encoder is cached under ``TGE_CACHE_DIR/encoder/<recipe id>`` like the reference LM
(builder lock, temporary directory and rename, content hashes checked on load).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textgen_eval.core.cache import cache_dir
from textgen_eval.core.errors import InputError
from textgen_eval.core.files import atomic_write_bytes, atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.protocols import EvaluationResources, Featurizer
from textgen_eval.core.safe_load import load_tensors
from textgen_eval.data.bundles import bundled_data_dir
from textgen_eval.data.shipped import shipped_entry
from textgen_eval.metrics.featurizers import spec_settings

LABELS = {"entailment": 0, "neutral": 1, "contradiction": 2}
#: The third-party SNLI sample's label codes (data/nli/SOURCE.md).
SAMPLE_LABELS = {"3": 0, "1": 1, "2": 2}
TOKEN = re.compile(r"\w+|[^\w\s]")
PAD, UNK = 0, 1


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


@dataclass(frozen=True)
class EncoderRecipe:
    """Everything that changes the trained encoder (its id names the cache entry and signature)."""

    emb_dim: int = 128
    hidden_size: int = 256
    mlp_size: int = 512
    epochs: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    min_freq: int = 2
    max_len: int = 50
    max_pairs: int = 0  # 0: every bundled pair
    seed: int = 0

    @property
    def id(self) -> str:
        """The recipe and the NLI data, not the package version: a release retrains nothing, and the
        shipped encoder (:mod:`textgen_eval.data.shipped`) is used while its id is this one. A change
        to the training code that changes the weights must change the name (``nli2`` → ``nli3``)."""
        blob = json.dumps({**asdict(self), "data": nli_digest()}, sort_keys=True)
        return "nli2-" + hashlib.sha256(blob.encode()).hexdigest()[:10]


def nli_dir() -> Path:
    return bundled_data_dir() / "nli"


#: The bundled NLI files (data/nli/SOURCE.md).
NLI_FILES = ("snli_dev.jsonl", "snli_sample_train.tsv", "multinli_dev_matched.jsonl")


def nli_digest() -> str:
    files = [nli_dir() / name for name in NLI_FILES]
    return hashlib.sha256("".join(file_digest(str(p), 64) for p in files).encode()).hexdigest()[:12]


def read_pairs(root: Path | None = None) -> list[tuple[str, str, int]]:
    """(premise, hypothesis, label) of the bundled NLI files, in file order."""
    root = root or nli_dir()
    pairs: list[tuple[str, str, int]] = []
    for name in ("snli_dev.jsonl", "multinli_dev_matched.jsonl"):
        path = root / name
        if not path.is_file():
            raise InputError(f"{path}: the bundled NLI data is missing (see data/nli/SOURCE.md)")
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            pairs.append((record["premise"], record["hypothesis"], LABELS[record["label"]]))
    with open(root / "snli_sample_train.tsv", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t", quotechar='"'):
            pairs.append((row[2], row[3], SAMPLE_LABELS[row[0]]))
    return pairs


def build_vocab(sentences: Sequence[str], min_freq: int) -> dict[str, int]:
    counts = Counter(w for s in sentences for w in tokenize(s))
    words = sorted(w for w, c in counts.items() if c >= min_freq)
    return {w: i + 2 for i, w in enumerate(words)}  # 0 = padding, 1 = unknown


def encode(texts: Sequence[str], vocab: dict[str, int], max_len: int) -> tuple[Any, Any]:
    """``(B, T)`` ids (T ≥ 1) and ``(B,)`` lengths; an empty sentence is one unknown word."""
    import torch

    ids = [[vocab.get(w, UNK) for w in tokenize(t)][:max_len] or [UNK] for t in texts]
    lengths = torch.tensor([len(x) for x in ids])
    batch = torch.full((len(ids), int(lengths.max())), PAD, dtype=torch.long)
    for i, x in enumerate(ids):
        batch[i, : len(x)] = torch.tensor(x)
    return batch, lengths


def make_encoder(vocab_size: int, recipe: EncoderRecipe) -> Any:
    import torch
    from torch import nn

    class BiLSTMMax(nn.Module):
        """Conneau et al. 2017, §3.2.2: BiLSTM, max over time of the concatenated states."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, recipe.emb_dim, padding_idx=PAD)
            self.lstm = nn.LSTM(recipe.emb_dim, recipe.hidden_size, batch_first=True, bidirectional=True)

        def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            # Packed, so the backward direction starts at each sentence's own last word: run over
            # the padded batch it would start at the batch's longest sentence and read the pads
            # first, making a sentence's embedding depend on its batch-mates (tested).
            from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

            packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            states, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])  # (B, T, 2H)
            mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # (B, T)
            states = states.masked_fill(~mask[:, :, None], float("-inf"))
            return states.max(dim=1).values  # (B, 2H)

    return BiLSTMMax()


#: Batches between two checkpoints of the encoder's training (about 20 s on 2 CPU cores).
CHECKPOINT_EVERY = 100


class DamagedCheckpointError(InputError):
    """The encoder's partial-training checkpoint cannot be used (damaged, foreign or planted): the
    cache discards it and trains from the start."""


def train_encoder(
    pairs: Sequence[tuple[str, str, int]],
    recipe: EncoderRecipe,
    *,
    checkpoint: Path | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> tuple[Any, dict[str, int], dict]:
    """Train the encoder and its NLI classifier; returns (encoder, vocab, report).

    With ``checkpoint``, the weights, Adam's state and the position in the (seeded) batch order
    are saved there every :data:`CHECKPOINT_EVERY` batches, and a training that finds one there
    continues from it: Ctrl-C loses at most that many batches, and — the batch order being a
    function of (seed, epoch) and the model having no dropout — the resumed training ends with
    the weights of an uninterrupted one (tested). ``progress(done, total)`` follows every batch
    (``done`` counts the batches of a resumed training too)."""
    import torch
    from torch import nn

    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    order = rng.permutation(len(pairs))
    if recipe.max_pairs:
        order = order[: recipe.max_pairs]
    held = max(1, len(order) // 20)
    valid_idx, train_idx = order[:held], order[held:]
    vocab = build_vocab([s for i in train_idx for s in pairs[i][:2]], recipe.min_freq)
    encoder = make_encoder(len(vocab) + 2, recipe)
    width = 2 * recipe.hidden_size
    classifier = nn.Sequential(
        nn.Linear(4 * width, recipe.mlp_size), nn.Tanh(), nn.Linear(recipe.mlp_size, 3)
    )
    params = list(encoder.parameters()) + list(classifier.parameters())
    optimizer = torch.optim.Adam(params, lr=recipe.lr)

    def logits(idx: np.ndarray) -> Any:
        u = encoder(*encode([pairs[i][0] for i in idx], vocab, recipe.max_len))
        v = encoder(*encode([pairs[i][1] for i in idx], vocab, recipe.max_len))
        return classifier(torch.cat([u, v, (u - v).abs(), u * v], dim=1))  # (B, 3)

    losses: list[float] = []
    first_epoch, first_start = 0, 0
    if checkpoint is not None and checkpoint.is_file():
        try:
            state = load_tensors(checkpoint, what="a training checkpoint of the NLI encoder")
            encoder.load_state_dict(state["encoder"])
            classifier.load_state_dict(state["classifier"])
            optimizer.load_state_dict(state["optimizer"])
            first_epoch, first_start = int(state["epoch"]), int(state["start"])
            losses = [float(x) for x in state["losses"]]
        except InputError as exc:
            raise DamagedCheckpointError(str(exc)) from None
        except (TypeError, KeyError, ValueError, RuntimeError) as exc:
            raise DamagedCheckpointError(
                f"{checkpoint}: not a training checkpoint of this NLI encoder recipe ({type(exc).__name__})"
            ) from None

    def save(epoch: int, start: int) -> None:
        if checkpoint is None:
            return
        import io

        buffer = io.BytesIO()
        torch.save(
            {"encoder": encoder.state_dict(), "classifier": classifier.state_dict(),
             "optimizer": optimizer.state_dict(), "epoch": epoch, "start": start, "losses": losses},
            buffer,
        )  # fmt: skip
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(checkpoint, buffer.getvalue())

    batches = 0
    per_epoch = -(-len(train_idx) // recipe.batch_size)
    total = recipe.epochs * per_epoch
    done = first_epoch * per_epoch + -(-first_start // recipe.batch_size)
    for epoch in range(first_epoch, recipe.epochs):
        shuffled = train_idx[np.random.default_rng([recipe.seed, epoch]).permutation(len(train_idx))]
        begin = first_start if epoch == first_epoch else 0
        for start in range(begin, len(shuffled), recipe.batch_size):
            idx = shuffled[start : start + recipe.batch_size]
            target = torch.tensor([pairs[i][2] for i in idx])
            loss = nn.functional.cross_entropy(logits(idx), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            batches += 1
            done += 1
            if progress is not None:
                progress(done, total)
            if batches % CHECKPOINT_EVERY == 0:
                save(epoch, start + recipe.batch_size)
        save(epoch + 1, 0)
    encoder.eval()
    with torch.no_grad():
        predicted = logits(valid_idx).argmax(dim=1).numpy()
    accuracy = float(np.mean(predicted == np.array([pairs[i][2] for i in valid_idx])))
    report = {
        "pairs": len(order),
        "valid_pairs": int(held),
        "valid_accuracy": accuracy,
        "last_loss": losses[-1],
    }
    return encoder, vocab, report


class SentenceEncoder:
    """The trained encoder as a :class:`~textgen_eval.core.protocols.Featurizer`."""

    def __init__(
        self,
        encoder: Any,
        vocab: dict[str, int],
        recipe: EncoderRecipe,
        recipe_id: str,
        *,
        weights_digest: str | None = None,
    ) -> None:
        self.encoder, self.vocab, self.recipe, self.recipe_id = encoder, vocab, recipe, recipe_id
        #: the sha256 of the cached weights: two encoders of one recipe id trained on different
        #: machines differ (docs/metrics.md), so stored features are keyed by the weights themselves
        self.weights_digest = weights_digest

    @property
    def features_cache_key(self) -> str | None:
        """What names this encoder's stored reference features (``None``: do not store them)."""
        return f"{self.recipe_id}-{self.weights_digest[:16]}" if self.weights_digest else None

    @property
    def signature(self) -> str:
        return f"encoder-{self.recipe_id}-bilstm{self.recipe.hidden_size}max"

    def oov_rate(self, texts: Sequence[str]) -> float:
        """Fraction of the (lowercased, punctuation-split) tokens outside the NLI vocabulary."""
        tokens = [w for t in texts for w in tokenize(t)]
        return sum(w not in self.vocab for w in tokens) / len(tokens) if tokens else 0.0

    def features(self, texts: Sequence[str], *, role: str = "samples", batch_size: int = 256) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), 2 * self.recipe.hidden_size), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start : start + batch_size])
                out[start : start + len(chunk)] = (
                    self.encoder(*encode(chunk, self.vocab, self.recipe.max_len)).double().numpy()
                )
        return out


def load_or_train(
    recipe: EncoderRecipe,
    *,
    notes: list[str] | None = None,
    train: Callable[..., Any] = train_encoder,
    progress: bool = False,
) -> SentenceEncoder:
    """The cached encoder of ``recipe``, trained once across processes (a lock), hashes checked
    (:mod:`textgen_eval.core.verified_cache`); ``progress``: a progress bar (stderr) while it trains."""
    import io

    import torch

    from textgen_eval.core.verified_cache import Built, CacheEntry, load_or_build

    key = recipe.id
    entry = CacheEntry(cache_dir() / "encoder", key)

    def load(path: Path, meta: Mapping[str, Any]) -> SentenceEncoder:
        vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        encoder = make_encoder(len(vocab) + 2, recipe)
        encoder.load_state_dict(load_tensors(path / "weights.pt", what="the NLI encoder's weights"))
        encoder.eval()
        return SentenceEncoder(encoder, vocab, recipe, key, weights_digest=str(meta["content"]["weights.pt"]))

    def build(partial: Path, target: Path) -> Built[SentenceEncoder]:
        checkpoint = partial / "checkpoint.pt"
        if notes is not None:
            notes.append(
                (f"resuming the NLI sentence encoder's training from {partial}" if checkpoint.is_file() else
                 f"training the NLI sentence encoder for FD (recipe {key}; about 5 min on 2 idle CPU cores, "
                 "longer on a busy machine; once per machine)")
                + f"; cached in {entry.path}; Ctrl-C keeps its progress"
            )  # fmt: skip
        with _bar(progress) as tick:
            try:
                encoder, vocab, report = train(read_pairs(), recipe, checkpoint=checkpoint, **tick)
            except DamagedCheckpointError as exc:  # never loaded beyond tensors: discarded, trained afresh
                checkpoint.unlink(missing_ok=True)
                if notes is not None:
                    notes.append(f"{exc}; it was discarded and the encoder is trained from the start")
                encoder, vocab, report = train(read_pairs(), recipe, checkpoint=checkpoint, **tick)
        buffer = io.BytesIO()
        torch.save(encoder.state_dict(), buffer)
        atomic_write_bytes(target / "weights.pt", buffer.getvalue())
        atomic_write_text(target / "vocab.json", json.dumps(vocab) + "\n")
        encoder.eval()
        digest = file_digest(str(target / "weights.pt"), 64)
        built = SentenceEncoder(encoder, vocab, recipe, key, weights_digest=digest)
        return Built(built, {"recipe": asdict(recipe), "recipe_id": key, "report": report})

    shipped = shipped_entry("encoder", key)
    encoder, _ = load_or_build(entry, load, build, what="sentence encoder", notes=notes, shipped=shipped)
    return encoder


@contextlib.contextmanager
def _bar(show: bool) -> Iterator[dict[str, Callable[[int, int], object]]]:
    """``{"progress": update}`` for :func:`train_encoder` with a tqdm bar on stderr, or ``{}``."""
    if not show:
        yield {}
        return
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(desc="NLI encoder", unit="batch", file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield {"progress": update}
    finally:
        bar.close()


def make_encoder_featurizer(arg: str, resources: EvaluationResources) -> Featurizer:
    """``--featurizer encoder[:KEY=VALUE,...]`` (registered lazily in :mod:`.featurizers`)."""
    from textgen_eval.core.config import build_sections

    overrides = {f"recipe.{k}": v for k, v in spec_settings("encoder", arg).items()}
    recipe = build_sections({"recipe": EncoderRecipe}, {}, overrides, where="--featurizer encoder")["recipe"]
    notes = getattr(resources, "notes", None)
    return load_or_train(recipe, notes=notes, progress=bool(getattr(resources, "progress", False)))
