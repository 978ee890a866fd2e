# A toy univariate problem, as aeon's write_to_ts_file lays it out
@problemName Toy
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true up down flat
@data
1,2,3,4:up
4,3,2,1:down
2,2,2,2:flat
1.5,2.5,3.5,4.5:up
