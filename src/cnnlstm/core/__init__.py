"""Small shared pieces every layer uses: params, runtime, inference, errors, atomic writes."""
