"""Decoding: constrained labels, batches of episodes, the prefix cache, free generation."""
