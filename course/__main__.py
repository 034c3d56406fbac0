from .cli import main

if __name__ == "__main__":  # not when multiprocessing (Dask's workers) re-imports this module
    main()
