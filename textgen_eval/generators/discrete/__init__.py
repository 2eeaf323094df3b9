"""Discrete text GANs trained with policy gradients: SeqGAN (reinforce / step / rollout) and the
thesis' LeakGAN (leak / noleak / mixed) (Semeniuta 2019 §5.4.2, Fig. 5.4; Yu et al. 2017)."""
