"""Prompts: numbers, texts and embeddings into token ids and each point's token span."""
