"""irbot: answers investors' questions by quoting the press-release sentence that answers them."""
__version__ = "0.1.0"
