ln -s "$HOSTDIR/secret" hostfile
