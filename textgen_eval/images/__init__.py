"""Image models on the shared runner and tuning protocol (IMAGES.md): VAE and ladder VAE on
binarized MNIST, with exact, signed likelihood bounds. Imported lazily (torch)."""
