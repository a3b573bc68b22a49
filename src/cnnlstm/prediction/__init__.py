"""`cnnlstm predict`: a trained model of the study applied to the user's own image files."""
