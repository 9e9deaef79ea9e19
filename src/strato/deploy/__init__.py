"""From a declared App to AWS: synth (CloudFormation), package (the Lambda zip), deploy, destroy."""
