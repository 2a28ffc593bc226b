"""`python -m corpus_ft …` runs the `corpus-ft` command."""

from corpus_ft.cli import main

if __name__ == "__main__":
    main()
