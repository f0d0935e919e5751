ln -s "$HOSTDIR/secret" .dockerignore
