echo ORIGINAL > data.txt
