"""IMAGES.md §7 sanity test 9: flatten → chunk → pad → unpad → unflatten is the identity, and the
four target networks have the parameter counts of Cheng et al. (2024), Table 1."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from textgen_eval.images.compression import (
    code_only_ratio,
    decoder_inclusive_ratio,
    flatten_parameters,
    from_chunks,
    parameter_count,
    target_network,
    to_chunks,
    unflatten_parameters,
)

TABLE_1 = {"fnn": 185_300, "cnn": 122_270, "rnn": 54_538, "lstm": 214_282}


@pytest.mark.parametrize("kind", sorted(TABLE_1))
def test_target_networks_have_the_papers_parameter_counts_and_run(kind: str) -> None:
    net = target_network(kind)
    assert parameter_count(net) == TABLE_1[kind]
    assert net(torch.rand(3, 784)).shape == (3, 10)


@pytest.mark.parametrize("kind", sorted(TABLE_1))
def test_flatten_chunk_pad_and_back_is_the_identity(kind: str) -> None:
    torch.manual_seed(0)
    net = target_network(kind)
    state = dict(net.named_parameters())
    vector, layout = flatten_parameters(state)
    chunks, pad = to_chunks(vector, 2048)
    assert chunks.shape == (math.ceil(TABLE_1[kind] / 2048), 2048)
    assert pad == chunks.numel() - TABLE_1[kind]
    assert pad == 0 or bool((chunks.reshape(-1)[-pad:] == 0).all())
    restored = unflatten_parameters(from_chunks(chunks, pad), layout)
    assert list(restored) == list(state)
    for name, value in state.items():
        assert torch.equal(restored[name], value.detach())
    clone = target_network(kind)
    clone.load_state_dict(restored, strict=False)
    x = torch.rand(2, 784)
    assert torch.equal(clone(x), net(x))


def test_compression_ratios() -> None:
    chunks = math.ceil(185_300 / 2048)
    assert chunks == 91
    assert code_only_ratio(185_300, chunks, 64) == pytest.approx(185_300 / 5_824)
    assert round(code_only_ratio(185_300, chunks, 64), 1) == 31.8
    decoder = nn.Sequential(nn.Linear(64, 512), nn.Linear(512, 2048))
    assert parameter_count(decoder) == 1_083_904
    assert decoder_inclusive_ratio(185_300, chunks, 64, 1_083_904) == pytest.approx(0.17, abs=0.005)
