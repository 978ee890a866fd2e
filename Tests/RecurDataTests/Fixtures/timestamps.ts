@problemName Stamped
@univariate true
@timeStamps true
@classLabel true a b
@data
(0,1.0),(1,2.0):a
