# The peers' tiny app on Architect sandbox (its tables are sandbox's built-in DynamoDB)
@app
peerbench

@aws
runtime nodejs20.x
region us-east-1
timeout 30

@http
get /hello/:name
get /item/:id

@ws
blast

@tables
items
  id *String
conns
  id *String
