// The Go + Gin peer of `npm run peer-bench`: the original HighGoPress's increment path (Gin,
// one INCRBY per increment, JSON in and out) on the same Redis, to set HighPress's server
// beside it per core (GOMAXPROCS against WORKERS). Built with Debian's Go, Gin and redigo
// packages (GOPATH mode, offline): see infra/tools/performance/peer.ts.
package main

import (
	"net/http"
	"os"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/gomodule/redigo/redis"
)

type incrementBody struct {
	ResourceID  string `json:"resource_id" binding:"required"`
	CounterType string `json:"counter_type" binding:"required"`
	UserID      string `json:"user_id" binding:"required"`
	Increment   int64  `json:"increment"`
}

func main() {
	addr := os.Getenv("REDIS_ADDR")
	pool := &redis.Pool{
		MaxIdle:   256,
		MaxActive: 1024,
		Wait:      true,
		Dial:      func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	}
	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	router.GET("/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	router.POST("/api/v1/counter/increment", func(c *gin.Context) {
		var body incrementBody
		if err := c.ShouldBindJSON(&body); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "Bad Request", "code": 400, "message": err.Error()})
			return
		}
		if body.Increment == 0 {
			body.Increment = 1
		}
		conn := pool.Get()
		defer conn.Close()
		count, err := redis.Int64(conn.Do("INCRBY", "peer:"+body.ResourceID+":"+body.CounterType, body.Increment))
		if err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "Service Unavailable", "code": 503, "message": err.Error()})
			return
		}
		c.JSON(http.StatusOK, gin.H{"success": true, "data": gin.H{
			"resource_id": body.ResourceID, "counter_type": body.CounterType, "count": count, "success": true,
		}})
	})
	port := os.Getenv("PORT")
	if _, err := strconv.Atoi(port); err != nil {
		port = "8090"
	}
	if err := router.Run("127.0.0.1:" + port); err != nil {
		panic(err)
	}
}
