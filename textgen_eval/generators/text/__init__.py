"""The toolkit every autoregressive text generator builds on: vocabulary lifecycle, optimizer
config, one batched autoregressive sampler (temperature, prefixes, Monte-Carlo rollouts,
per-step log-probabilities with the graph kept), and initialisation from a saved LM."""
