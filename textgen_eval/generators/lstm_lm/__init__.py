"""LSTM language model with recurrent dropout (Semeniuta 2019, chapter 3)."""
