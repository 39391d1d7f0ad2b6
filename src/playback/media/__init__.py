"""Media: uploads, probing, transcoding, posters and (later) composition."""
