"""Text generators: a common interface (:class:`Generator`) and a registry with plugins."""

from textgen_eval.generators.base import Generator
from textgen_eval.generators.registry import generator_class, generator_registry, load_generator

__all__ = ["Generator", "generator_class", "generator_registry", "load_generator"]
