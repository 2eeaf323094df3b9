"""A GPT-2-architecture transformer language model: the modern MLE baseline row."""
