"""Continuous text GANs trained with WGAN-GP (Semeniuta 2019 §5.4.1; Gulrajani et al. 2017)."""
