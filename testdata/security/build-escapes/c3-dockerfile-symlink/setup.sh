rm Dockerfile && ln -s "$HOSTDIR/secret" Dockerfile
