"""Regional reports (supply, demand, matching, flows, time series) and spatial exports."""
