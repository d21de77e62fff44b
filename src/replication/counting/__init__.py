"""Counting: training FLOPs and parameter counts under every accounting the papers use.

:class:`PerceiverARShape` and :class:`ComputeEstimator` count Krasser's Perceiver AR (accountings
``ACCOUNTINGS``: the article's and his correction's); :class:`Decoder` counts a decoder-only transformer
as Chinchilla's Appendix F and Table A4 do (``DECODER_ACCOUNTINGS``).
"""
from replication.counting.decoder import DECODER_ACCOUNTINGS, Decoder, appendix_f_terms, table_a4, table_a4_matches
from replication.counting.perceiver import ACCOUNTINGS, TRAIN_ACCOUNTINGS, ComputeEstimator, PerceiverARShape

__all__ = ["ACCOUNTINGS", "TRAIN_ACCOUNTINGS", "DECODER_ACCOUNTINGS", "ComputeEstimator", "Decoder", "PerceiverARShape",
           "appendix_f_terms", "table_a4", "table_a4_matches"]
