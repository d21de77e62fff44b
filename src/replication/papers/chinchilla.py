"""Numbers printed in the source papers, typed in by hand.

Each constant cites its table. These are the targets the library reproduces; nothing here is
computed. Values are exactly as printed, printing errors included (see ``TABLE_A3`` 175B row).
"""
from __future__ import annotations

import pandas as pd

#: Gopher's training budget in FLOPs (Hoffmann et al. 2022, Table 3 "1" row).
GOPHER_FLOPS = 5.76e23

#: The nine IsoFLOP budgets of Approach 2, in FLOPs (Figure 3).
ISOFLOP_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)

#: Table 2 (and Kaplan): exponents a (N_opt ~ C^a) and b (D_opt ~ C^b), with the printed
#: 10th/90th percentile intervals where given.
TABLE_2 = {
    "approach1": {"a": 0.50, "a_ci": (0.488, 0.502), "b": 0.50, "b_ci": (0.501, 0.512)},
    "approach2": {"a": 0.49, "a_ci": (0.462, 0.534), "b": 0.51, "b_ci": (0.483, 0.529)},
    "approach3": {"a": 0.46, "a_ci": (0.454, 0.455), "b": 0.54, "b_ci": (0.542, 0.543)},
    "kaplan": {"a": 0.73, "a_ci": None, "b": 0.27, "b_ci": None},
}


def _table(columns: list[str], rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


#: Table 3 (Approach 1): parameters, FLOPs, FLOPs in Gopher units, tokens.
TABLE_3 = _table(
    ["N", "C", "C_gopher_units", "D"],
    [
        (400e6, 1.92e19, 1 / 29_968, 8.0e9),
        (1e9, 1.21e20, 1 / 4_761, 20.2e9),
        (10e9, 1.23e22, 1 / 46, 205.1e9),
        (67e9, 5.76e23, 1.0, 1.5e12),
        (175e9, 3.85e24, 6.7, 3.7e12),
        (280e9, 9.90e24, 17.2, 5.9e12),
        (520e9, 3.43e25, 59.5, 11.0e12),
        (1e12, 1.27e26, 221.3, 21.2e12),
        (10e12, 1.30e28, 22515.9, 216.2e12),
    ],
)

#: Table A3: Approach 2 and Approach 3 columns (FLOPs and tokens per model size).
#: The 175B Approach-3 FLOPs are printed as 1.26e24; 6·N·D gives about 1.26e25.
TABLE_A3 = _table(
    ["N", "approach2_C", "approach2_D", "approach3_C", "approach3_D"],
    [
        (400e6, 1.84e19, 7.7e9, 2.21e19, 9.2e9),
        (1e9, 1.20e20, 20.0e9, 1.62e20, 27.1e9),
        (10e9, 1.32e22, 219.5e9, 2.46e22, 410.1e9),
        (67e9, 6.88e23, 1.7e12, 1.71e24, 4.1e12),
        (175e9, 4.54e24, 4.3e12, 1.26e24, 12.0e12),
        (280e9, 1.18e25, 7.1e12, 3.52e25, 20.1e12),
        (520e9, 4.19e25, 13.4e12, 1.36e26, 43.5e12),
        (1e12, 1.59e26, 26.5e12, 5.65e26, 94.1e12),
        (10e12, 1.75e28, 292.0e12, 8.55e28, 1425.5e12),
    ],
)

#: Table A4: parameters as printed (73M ... 6.8B), model shapes, and the printed ratio of the paper's
#: FLOPs to 6·N·D (seq 2048).
TABLE_A4 = _table(
    ["N", "n_layers", "d_model", "ffw_size", "n_heads", "kv_size", "ratio"],
    [
        (73e6, 10, 640, 2560, 10, 64, 1.03),
        (305e6, 20, 1024, 4096, 16, 64, 1.10),
        (552e6, 24, 1280, 5120, 10, 128, 1.08),
        (1.1e9, 26, 1792, 7168, 14, 128, 1.04),
        (1.6e9, 28, 2048, 8192, 16, 128, 1.03),
        (6.8e9, 40, 3584, 14336, 28, 128, 0.99),
    ],
)

#: Table 4: the shapes of Gopher and Chinchilla (the feed-forward width is 4 d_model in both).
TABLE_4 = {
    "Gopher": {"n_layers": 80, "n_heads": 128, "kv_size": 128, "d_model": 16384},
    "Chinchilla": {"n_layers": 80, "n_heads": 64, "kv_size": 128, "d_model": 8192},
}

#: Equation 10, rounded as printed, and the unrounded fit (Approach 3).
EQ10 = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
EQ10_UNROUNDED = {"E": 1.69337, "A": 406.401, "B": 410.723, "alpha": 0.33917084, "beta": 0.2849083}

#: Losses the paper's fit gives for Gopher (280B, 300B tokens) and Chinchilla (70B, 1.4T tokens).
LOSS_GOPHER = 1.993
LOSS_CHINCHILLA = 1.936
GOPHER = {"N": 280e9, "D": 300e9}
CHINCHILLA = {"N": 70e9, "D": 1.4e12}

#: Besiroglu et al. (2024): their likelihood estimate of eq. 10 on the Figure 4 points.
EPOCH_FIT = {"E": 1.8169, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
