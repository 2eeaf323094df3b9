"""Reading, validating and tokenizing text corpora.

Public entry points: :func:`read_texts` (any source spec), :class:`TextSet`,
:func:`make_tokenizer`, :func:`resolve_bundle`.
"""

from textgen_eval.data.bundles import Bundle, bundled_data_dir, list_bundles, resolve_bundle
from textgen_eval.data.sources import read_texts
from textgen_eval.data.textset import TextSet
from textgen_eval.data.tokenizers import Tokenizer, make_tokenizer, tokenizer_registry

__all__ = [
    "Bundle",
    "TextSet",
    "Tokenizer",
    "bundled_data_dir",
    "list_bundles",
    "make_tokenizer",
    "read_texts",
    "resolve_bundle",
    "tokenizer_registry",
]
