"""The model: where its weights come from, the verified cache, loading, adapters, devices, faults."""
