"""The toy world: made-up words, the tasks on them and the templates that ask for them (`world`),
its character tokenizer (`tokenizer`) and its datasets in every shape (`data`). It knows nothing of
training or of the site: replace it with your own data and the harness trains on that."""
