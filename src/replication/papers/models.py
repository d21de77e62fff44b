"""Released language models as their papers state them: parameters and training tokens."""

#: Published (nominal) parameters and training tokens: Hoffmann et al. 2022 (Chinchilla, Gopher), Brown et al.
#: 2020 (GPT-3), Touvron et al. 2023a (LLaMA), Touvron et al. 2023b (Llama 2).
PUBLISHED_MODELS = {
    "Chinchilla": (70e9, 1.4e12),
    "Gopher": (280e9, 300e9),
    "GPT-3": (175e9, 300e9),
    "LLaMA-7B": (7e9, 1.0e12),
    "LLaMA-13B": (13e9, 1.0e12),
    "LLaMA-33B": (33e9, 1.4e12),
    "LLaMA-65B": (65e9, 1.4e12),
    "Llama-2-7B": (7e9, 2.0e12),
    "Llama-2-13B": (13e9, 2.0e12),
    "Llama-2-70B": (70e9, 2.0e12),
}
