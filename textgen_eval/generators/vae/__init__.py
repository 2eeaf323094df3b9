"""Text VAEs: the LSTM VAE (Bowman et al. 2016, as used in Semeniuta 2019 §5.3.1)."""
