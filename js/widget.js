// widget placeholder
