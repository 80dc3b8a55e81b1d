"""Capture: hidden states and attention of a forward pass, read per point."""
