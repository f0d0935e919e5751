echo IGNORED-SECRET > .env; echo .env > .dockerignore
