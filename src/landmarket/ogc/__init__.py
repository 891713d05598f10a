"""OGC API Features (Parts 1-3) and Tiles: read-only, standard views of published plots."""
