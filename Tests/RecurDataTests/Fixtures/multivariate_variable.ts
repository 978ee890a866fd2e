#Multivariate, unequal length
@problemName ToyMV
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2

@data
1,2,3:10,20,30:1
4,?,6:40,50,60:2
5,6,7,8:?,60,70,80:1
