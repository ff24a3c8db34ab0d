"""Who is asking and what they may read: the caller (`caller`), how a request's credential
becomes one (`authenticator`: API keys in `apikeys`, JSON Web Tokens in `tokens` with key
sets from `jwks`), and the rows of filtered tables a caller may read (`policies`)."""
