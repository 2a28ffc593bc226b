"""corpus-ft: enterprise documents and code in, reviewed fine-tuning datasets and a tuned Llama out."""

__version__ = "0.1.0"
